"""Public pages (unsubscribe, preferences) live in regard.consent.public."""
