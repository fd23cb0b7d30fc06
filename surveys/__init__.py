"""Survey kinds, invitation tokens, the public survey pages and the recording of answers."""
