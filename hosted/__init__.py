"""Fine-tuning elsewhere: OpenAI's fine-tuning files (export, validation, cost), offline."""
