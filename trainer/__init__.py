"""ssd-rt trainer: target matching, MultiBox loss and the training loop (`ssd-rt-train`)."""
