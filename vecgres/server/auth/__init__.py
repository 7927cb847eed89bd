"""Client authentication: hba-style rules, the user store, and the SCRAM/MD5/password exchanges.

Pure stdlib (hashlib, hmac, secrets). The connection drives the exchanges;
nothing here does I/O except loading the rule and user files.
"""
