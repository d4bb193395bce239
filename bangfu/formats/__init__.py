"""Date and time formats of the pages, the same in every language: ISO dates (2026-11-30) and
24-hour times, as printed forms and the department files write them. Django's own locale
formats stay for what is not set here (the input formats, numbers)."""
