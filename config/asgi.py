import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# Build the administrative-division table (about a second) when the worker starts, not inside the
# first request that checks an ID number.
from bangfu.common.checks import refuse_to_start  # noqa: E402
from bangfu.common.divisions import division_table  # noqa: E402

division_table()
# A server (granian) runs no system checks: a personal-data key of the wrong form, or not the
# database's, stops the worker here with the variable's name rather than failing on the first number.
refuse_to_start()
