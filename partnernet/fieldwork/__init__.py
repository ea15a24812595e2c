"""Work at the customer's: attachments on a ticket, on-site visits and the service report (服务报告)."""
