"""Each partner's month side by side: SLA results, satisfaction, push-back and certified engineers."""
