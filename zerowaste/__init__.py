"""Zero-Waste City (无废城市) solid-waste supervision platform."""

__version__ = "0.1.0"
