"""Date, time and number formats of the pages, the same in every language: ISO dates (2026-11-30)
and 24-hour times, as printed forms and the department files write them, and amounts and counts
grouped in thousands with a comma (2,400.00; ``floatformat:"2g"``, ``intcomma``), as the reasons
of a decision write them (``eligibility.rules.model.fmt_money``); Django's Chinese formats would
group none. Django's own locale formats stay for what is not set here (the input formats). Each
language's module (``FORMAT_MODULE_PATH``) takes these."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
