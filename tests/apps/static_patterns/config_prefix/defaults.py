REPORTS_PREFIX = "/reports"
