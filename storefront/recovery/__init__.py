"""Cart recovery: the cart-save flow that brings abandoned shoppers back by email, SMS and
voice (through ``storefront.notifications``), restore links, and the recovery reports."""
