"""Customers and their contracts: who sold what, and what service they are entitled to."""
