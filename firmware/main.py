# Runs after boot.py on every start (power-on, reset, deep-sleep wake).
import node

node.main()
