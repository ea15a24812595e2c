"""China's administrative divisions (GB/T 2260) and their lookups."""
