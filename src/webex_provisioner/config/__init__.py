"""The configuration: one YAML file, ``${VAR}`` references, validated with every problem at once.

``load_config(path)`` reads, resolves environment references and validates; it raises
``ConfigError`` listing each problem with its key (``directory.base_dn: ...``) and the fix.
Nothing is contacted here: a configuration that does not validate never reaches a server.
The sections are in ``config.schema``, the presets of ``directory.type`` in ``config.presets``.
"""

from webex_provisioner.config.drift import DriftConfig
from webex_provisioner.config.groups import GroupsConfig
from webex_provisioner.config.licenses import LicenseRule, LicensesConfig, LicenseWhen
from webex_provisioner.config.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG_PATH,
    config_path,
    load_config,
    parse_config,
    resolve_env,
)
from webex_provisioner.config.notify import NotifyConfig
from webex_provisioner.config.schema import (
    Config,
    DeprovisionLimit,
    DirectoryConfig,
    HaConfig,
    LoggingConfig,
    OAuthConfig,
    ProvisioningConfig,
    SafetyConfig,
    ScheduleConfig,
    ScopeConfig,
    WebexConfig,
)
from webex_provisioner.config.values import Duration, listen_address, parse_duration

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "Config",
    "DeprovisionLimit",
    "DirectoryConfig",
    "DriftConfig",
    "Duration",
    "GroupsConfig",
    "HaConfig",
    "LicenseRule",
    "LicenseWhen",
    "LicensesConfig",
    "LoggingConfig",
    "NotifyConfig",
    "OAuthConfig",
    "ProvisioningConfig",
    "SafetyConfig",
    "ScheduleConfig",
    "ScopeConfig",
    "WebexConfig",
    "config_path",
    "listen_address",
    "load_config",
    "parse_config",
    "parse_duration",
    "resolve_env",
]
