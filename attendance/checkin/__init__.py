"""Check-in: kiosks, their frames, the rules that turn a recognised face into an entry or exit."""
