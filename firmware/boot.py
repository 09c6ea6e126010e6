# First file the board runs. Keep it tiny: a crash here stops the board before main.py.
import gc

gc.collect()
