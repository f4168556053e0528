from django.urls import URLPattern, URLResolver, path

from paging.channels.links import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("l/<str:token>/", views.link_page, name="delivery-link"),
]
