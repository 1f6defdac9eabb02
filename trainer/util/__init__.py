"""Helpers every stage shares: files written atomically, JSONL, calendar words, language, people words."""
