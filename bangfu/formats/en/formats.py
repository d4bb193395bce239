# A date or time shown without a format of its own reads as on every other page (``bangfu.formats``).
from bangfu.formats import *  # noqa: F403 - the same formats in every language
