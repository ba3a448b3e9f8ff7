"""The LDAP adapter of the ``DirectorySource`` port."""

from webex_provisioner.directory.ldap import LdapDirectory

__all__ = ["LdapDirectory"]
