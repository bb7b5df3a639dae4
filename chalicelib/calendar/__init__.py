"""Calendar rules that need no database: times in zones, recurrence, holidays, iCalendar."""
