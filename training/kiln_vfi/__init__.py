"""kiln's default frame-interpolation model: architecture, synthetic data, training, export."""
