import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Build the administrative-division table (about a second) when the worker starts, not inside the
# first request that checks an ID number.
from bangfu.common.divisions import division_table  # noqa: E402

division_table()
