@_exported public import WritAudit
@_exported public import WritCrypto
@_exported public import WritIdentity
@_exported public import WritPolicy
@_exported public import WritRevocation
@_exported public import WritTokens
