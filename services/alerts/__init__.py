"""New-article alerts: subscriptions, matching, delivery preferences and the sending loop."""
