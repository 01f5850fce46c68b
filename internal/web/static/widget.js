// Placeholder: the real widget is helper webui's.
