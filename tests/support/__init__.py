"""Test helpers: real processes (moto server, the service) on free loopback ports."""
