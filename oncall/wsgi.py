import os

from django.core.wsgi import get_wsgi_application

from oncall.gc_tuning import freeze_after_startup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
application = get_wsgi_application()
# Loaded in each gunicorn worker: what start-up built is never walked by the GC again.
freeze_after_startup()
