"""Chinese question-answering Telegram bot over public policy texts."""
