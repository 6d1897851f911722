// Network Level Authentication for the RDP server: CredSSP (MS-CSSP) over NTLM v2 (MS-NLMP), raw
// or inside SPNEGO (MS-SPNG), and HYBRID_EX's Early User Authorization Result (MS-RDPBCGR 2.2.10.2).
export {
  AUTHZ_ACCESS_DENIED,
  AUTHZ_SUCCESS,
  CredSspAcceptor,
  type CredSspAcceptorOptions,
  type CredSspFailureKind,
  type CredSspStep,
  CREDSSP_SERVER_VERSION,
  encodeEarlyUserAuthorizationResult,
  MAX_TS_REQUEST_LENGTH,
  STATUS_LOGON_FAILURE,
  subjectPublicKeyOf,
  tsRequestLength,
} from './credssp.js';
