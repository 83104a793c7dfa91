"""The contract and our platform bodies as types: requests decoded into them, answers built from them."""
