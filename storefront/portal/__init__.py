"""The customer's portal under /account: passwordless sign-in, orders, subscriptions,
payment methods, email preferences and account settings (ARCHITECTURE §2)."""
