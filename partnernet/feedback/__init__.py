"""What customers say of the service they had: their answer to a resolved ticket's link and HQ's call-backs."""
