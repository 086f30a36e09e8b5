"""Community upscaler and restorer weights (ESRGAN, SwinIR, HAT, DAT, SPAN, ...) through spandrel."""
