"""The operations: provision, unprovision, updateacl, reverse provisioning, drift, rebuild, through the door."""
