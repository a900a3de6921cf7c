"""The core: the engine and the plans shared by run, estimate and whatif."""
