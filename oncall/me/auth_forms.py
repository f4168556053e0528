from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Django's form; the error says which field to look at, never which one was wrong."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Username or password is not right. Both are case-sensitive.",
    }
