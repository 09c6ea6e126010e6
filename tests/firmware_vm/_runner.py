# In-VM test runner: runs firmware unit tests inside the MicroPython unix VM.
# Usage: micropython -X heapsize=100K _runner.py MODULE TEST
# Prints one "PASS name heap_peak=N" or "FAIL name" line followed by the traceback.
import sys
import gc
import micropython


def _run(mod_name, test_name):
    mod = __import__(mod_name)
    fn = getattr(mod, test_name)
    gc.collect()
    res = fn()
    # async tests return a coroutine (a generator object in MicroPython)
    if res is not None and hasattr(res, "send"):
        import asyncio

        asyncio.run(res)


def main():
    mod_name = sys.argv[1]
    test_name = sys.argv[2]
    try:
        _run(mod_name, test_name)
    except Exception as e:  # report every failure with its traceback
        print("FAIL", test_name)
        sys.print_exception(e)
        sys.exit(1)
    print("PASS", test_name, "heap_peak=%d" % micropython.mem_peak())


main()
