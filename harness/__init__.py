"""Training and inference on the user's data: full fine-tuning, LoRA and QLoRA."""
