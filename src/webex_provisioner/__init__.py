"""webex-provisioner: keeps the users of a Cisco Webex organization in step with an LDAP directory."""

__version__ = "0.1.0"
