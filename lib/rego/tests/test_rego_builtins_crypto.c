/* Unit tests of the crypto and io.jwt built-ins: digests, HMACs, X.509 parsing and chain
 * verification, private keys, JWT decoding, verification, decode_verify constraints and
 * signing. Expected values come from the conformance suite and RFC 7515. */
#include "lib/rego/tests/builtins_test_call.h"

#define NS_PER_S 1000000000LL

/* Test material generated with the openssl CLI: a self-signed P-256 certificate valid from
 * 2026-11-22 to 2126 (CN unit.example, SANs DNS, URI and IP), its key, a request for
 * req.example with that key, and a 512-bit RSA key; and OPA's test chain (root, intermediate,
 * leaf for notarealsite.opa.localhost, valid 2021-07-05 to 2031-06-29). */
static const char ec_cert_pem[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIB5jCCAYugAwIBAgIUJWuWKpg98MfrubW+vLRxxTsUgukwCgYIKoZIzj0EAwIw\n"
        "KTEVMBMGA1UEAwwMdW5pdC5leGFtcGxlMRAwDgYDVQQKDAdqaXRzdWRvMCAXDTI2\n"
        "MTEyMjIyNTMwNFoYDzIxMjYxMDI5MjI1MzA0WjApMRUwEwYDVQQDDAx1bml0LmV4\n"
        "YW1wbGUxEDAOBgNVBAoMB2ppdHN1ZG8wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
        "AASJLeqWVVz39A9h1B47g6vxxHQPSnY2bRl6XWQkLRtfUTlI+Z42HUQODyJXMNq3\n"
        "Orv7Ya9hzRpKMU8+BZBhIMPRo4GOMIGLMB0GA1UdDgQWBBQmqmS4bd41wmbDDbed\n"
        "XnIq2zUE+jAfBgNVHSMEGDAWgBQmqmS4bd41wmbDDbedXnIq2zUE+jAPBgNVHRMB\n"
        "Af8EBTADAQH/MDgGA1UdEQQxMC+CDHVuaXQuZXhhbXBsZYYZc3BpZmZlOi8vZXhh\n"
        "bXBsZS5vcmcvdW5pdIcECgECAzAKBggqhkjOPQQDAgNJADBGAiEA5V+OPoSWZy/e\n"
        "BOLqPjbZlD7MgzS/9nfKqxsI41ce4XcCIQD+UKlue0jDDbqeaEZmNRmDamzRjflD\n"
        "qh44P3VmaT8NGA==\n"
        "-----END CERTIFICATE-----\n";

static const char ec_key_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7ivagyphmC3LmaDp\n"
        "R87WkNs1V/KwBRqjgyVbYMjj5FihRANCAASJLeqWVVz39A9h1B47g6vxxHQPSnY2\n"
        "bRl6XWQkLRtfUTlI+Z42HUQODyJXMNq3Orv7Ya9hzRpKMU8+BZBhIMPR\n"
        "-----END PRIVATE KEY-----\n";

static const char ec_csr_pem[] =
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        "MIH6MIGhAgEAMBYxFDASBgNVBAMMC3JlcS5leGFtcGxlMFkwEwYHKoZIzj0CAQYI\n"
        "KoZIzj0DAQcDQgAEiS3qllVc9/QPYdQeO4Or8cR0D0p2Nm0Zel1kJC0bX1E5SPme\n"
        "Nh1EDg8iVzDatzq7+2GvYc0aSjFPPgWQYSDD0aApMCcGCSqGSIb3DQEJDjEaMBgw\n"
        "FgYDVR0RBA8wDYILcmVxLmV4YW1wbGUwCgYIKoZIzj0EAwIDSAAwRQIgclGnYVTZ\n"
        "yecQ10rv5erlxR3kRVcbu0SCElIWwME9Q0kCIQDCbg/t4ELVtsxb9PLT0vmOa4Y+\n"
        "Q0haNsx0L/YtVDgWRA==\n"
        "-----END CERTIFICATE REQUEST-----\n";

static const char rsa_key_pem[] =
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIBOgIBAAJBAMWu8wP/Z2qqldUUCaZySrBrVeSco0kRKi+52GhVUenFXcn4qNf5\n"
        "4Y/4+opig4z7BMTK3wCZ6B9VkC/55sdYOpkCAwEAAQJAGn1dFzYMV6DQPyNWP7Wl\n"
        "CIr5kY7j2pCwRID03NZCCb8qV9spZVt8T1TjdJxUV8xMHrhi5zQbZhZrzJyp8JLr\n"
        "YQIhAPSV5rdLO32iUYuLcpcNEaCszyGmMkn9+8x4g399OEhdAiEAzuizhIL7Ux0i\n"
        "bQc445NsgzJhBQRhmFpQ5/MmOTIUZ20CIAu8udKn+JXh2TnyGjCnfuYQBOyfdiBY\n"
        "4OGCEwVmM/I9AiEApdjqQ/YFY5p/xKq8U9YQbZ0NHUtkuwzxuuowIjpdFoUCIEg1\n"
        "CJo+kc0nErUTff32DoaipZuIoOYwY5NCMc33asJI\n"
        "-----END RSA PRIVATE KEY-----\n";

static const char chain_pem[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBoDCCAUagAwIBAgIRAJXcMYZALXooNq/VV/grXhMwCgYIKoZIzj0EAwIwLjER\n"
                                "MA8GA1UEChMIT1BBIFRlc3QxGTAXBgNVBAMTEE9QQSBUZXN0IFJvb3QgQ0EwHhcN\n"
                                "MjEwNzAxMTc0MTUzWhcNMzEwNjI5MTc0MTUzWjAuMREwDwYDVQQKEwhPUEEgVGVz\n"
                                "dDEZMBcGA1UEAxMQT1BBIFRlc3QgUm9vdCBDQTBZMBMGByqGSM49AgEGCCqGSM49\n"
                                "AwEHA0IABFqhdZA5LjsJgzsBvhgzfayZFOk+C7PmGCi7xz6zOC3xWORJZSNOyZeJ\n"
                                "YzSKFmoMZkcFMfslTW1jp9fwe1xl3HWjRTBDMA4GA1UdDwEB/wQEAwIBBjASBgNV\n"
                                "HRMBAf8ECDAGAQH/AgEBMB0GA1UdDgQWBBTch60qxQvLl+AfDfcaXmjvT8GvpzAK\n"
                                "BggqhkjOPQQDAgNIADBFAiBqraIP0l2U0oNuH0+rf36hDks94wSB5EGlGH3lYNMR\n"
                                "ugIhANkbukX5hOP8pJDRWP/pYuv6MBnRY4BS8gpp9Vu31qOb\n"
                                "-----END CERTIFICATE-----\n"
                                "-----BEGIN CERTIFICATE-----\n"
                                "MIIByDCCAW6gAwIBAgIQC0k4DPGrh9me73EJX5zntTAKBggqhkjOPQQDAjAuMREw\n"
                                "DwYDVQQKEwhPUEEgVGVzdDEZMBcGA1UEAxMQT1BBIFRlc3QgUm9vdCBDQTAeFw0y\n"
                                "MTA3MDExNzQxNTNaFw0zMTA2MjkxNzQxNTNaMDYxETAPBgNVBAoTCE9QQSBUZXN0\n"
                                "MSEwHwYDVQQDExhPUEEgVGVzdCBJbnRlcm1lZGlhdGUgQ0EwWTATBgcqhkjOPQIB\n"
                                "BggqhkjOPQMBBwNCAARvXQa7fy476gDI81nqLYb2SnD459WxBmU0hk2bA3ZuNtI+\n"
                                "H20KXz6ISmxH3MZ2WBm6rOy7y4Gn+WMCJuxzcl5jo2YwZDAOBgNVHQ8BAf8EBAMC\n"
                                "AQYwEgYDVR0TAQH/BAgwBgEB/wIBADAdBgNVHQ4EFgQUuslZNjJl0V8I1Gj17IID\n"
                                "ALy/9WEwHwYDVR0jBBgwFoAU3IetKsULy5fgHw33Gl5o70/Br6cwCgYIKoZIzj0E\n"
                                "AwIDSAAwRQIgUwsYApW9Tsm6AstWswaKGie0srB4FUkUbfKwWmUI2JgCIQCBTySN\n"
                                "MF+EiQAMKyz/N9KUuXEckC356WvKcyJaYYcV0w==\n"
                                "-----END CERTIFICATE-----\n"
                                "-----BEGIN CERTIFICATE-----\n"
                                "MIIB8zCCAZqgAwIBAgIRAID4gPKg7DDiuOfzUYFSXLAwCgYIKoZIzj0EAwIwNjER\n"
                                "MA8GA1UEChMIT1BBIFRlc3QxITAfBgNVBAMTGE9QQSBUZXN0IEludGVybWVkaWF0\n"
                                "ZSBDQTAeFw0yMTA3MDUxNzQ5NTBaFw0zNjA3MDExNzQ5NDdaMCUxIzAhBgNVBAMT\n"
                                "Gm5vdGFyZWFsc2l0ZS5vcGEubG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
                                "AQcDQgAE1YSXZXeaGGL+XeYyoPi/QdA39Ds4fgxSHJTMh+js393kByPm2PNtFkem\n"
                                "tUii3KCRJw3SEh3z0JWr/9y4+ua2L6OBmTCBljAOBgNVHQ8BAf8EBAMCB4AwHQYD\n"
                                "VR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMB0GA1UdDgQWBBRL0P0g17viZHo9\n"
                                "CnXe3ZQJm48LXTAfBgNVHSMEGDAWgBS6yVk2MmXRXwjUaPXsggMAvL/1YTAlBgNV\n"
                                "HREEHjAcghpub3RhcmVhbHNpdGUub3BhLmxvY2FsaG9zdDAKBggqhkjOPQQDAgNH\n"
                                "ADBEAiAtmZewL94ijN0YwUGaJM9BXCaoTQPwkzugqjCj+K912QIgKKFvbPu4asrE\n"
                                "nwy7dzejHmQUcZ/aUNbc4VTbiv15ESk=\n"
                                "-----END CERTIFICATE-----\n";

/* RFC 7515 appendix A.1: the HMAC key and the token it yields for the example claims. */
#define RFC7515_OCT_JWK                                                          \
	"{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-" \
	"1qS0gZH75aKtMN3Yj0iPS4h"                                                \
	"cgUuTwjAzZr1Z9CAow\"}"

static const struct rego_value *
STR(const char *s)
{
	const struct rego_value *v = rego_string_cstr(&fx->arena, s);
	assert_non_null(v);
	return v;
}

static const struct rego_value *
field(const struct rego_value *object, const char *key)
{
	assert_int_equal(object->type, REGO_OBJECT);
	const struct rego_value *v = rego_object_get_string(object, key, strlen(key));
	if (!v)
		fail_msg("no field %s", key);
	return v;
}

static void
test_digests(void **state)
{
	EXPECT("\"80a751fde577028640c419000e33eba6\"", "crypto.md5", J("\"lorem ipsum\""));
	EXPECT("\"bfb7759a67daeb65410490b4d98bb9da7d1ea2ce\"", "crypto.sha1", J("\"lorem ipsum\""));
	EXPECT("\"5e2bf57d3f40c4b6df69daf1936cb766f832374b4fc0259a7cbff06e2f70f269\"",
	       "crypto.sha256", J("\"lorem ipsum\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got number", "crypto.md5",
	             J("1"));
}

static void
test_hmacs(void **state)
{
	EXPECT("\"31b6db9e5eb4addb42f1a6ca07367adc\"", "crypto.hmac.md5", J("\"foo\""),
	       J("\"bar\""));
	EXPECT("\"85d155c55ed286a300bd1cf124de08d87e914f3a\"", "crypto.hmac.sha1", J("\"foo\""),
	       J("\"bar\""));
	EXPECT("\"147933218aaabc0b8b10a2b3a5c34684c8d94341bcf10a4736dc7270f7741851\"",
	       "crypto.hmac.sha256", J("\"foo\""), J("\"bar\""));
	EXPECT("\"24257d7210582a65c731ec55159c8184cc24c02489453e58587f71f44c23a2d61b4b72154a89d17b2"
	       "d49"
	       "448a8452ea066f4fc56a2bcead45c088572ffccdb3d8\"",
	       "crypto.hmac.sha512", J("\"foo\""), J("\"bar\""));
	EXPECT("\"eb90daeb76d4b2571fbdaf94bbb240809faa8fed93ec0c260dd38c3fdf8d963a\"",
	       "crypto.hmac.sha256", STR("åäöçß🥲♙Ω"), STR("秘密の"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be string but got null", "crypto.hmac.sha1",
	             J("\"foo\""), J("null"));
	EXPECT("true", "crypto.hmac.equal", J("\"31b6db9e\""), J("\"31b6db9e\""));
	EXPECT("false", "crypto.hmac.equal", J("\"31b6db9e\""), J("\"31b6db9f\""));
	EXPECT("false", "crypto.hmac.equal", J("\"31b6db9e5eb4addb\""), J("\"31b6db9e\""));
}

static void
test_x509_parse_certificates(void **state)
{
	assert_int_equal(CALL("crypto.x509.parse_certificates", STR(ec_cert_pem)), 0);
	assert_int_equal(fx->result->length, 1);
	const struct rego_value *cert = fx->result->u.items[0];
	assert_string_equal(rego_text(field(field(cert, "Subject"), "CommonName")),
	                    "\"unit.example\"");
	assert_string_equal(rego_text(field(field(cert, "Subject"), "Organization")),
	                    "[\"jitsudo\"]");
	assert_string_equal(rego_text(field(cert, "DNSNames")), "[\"unit.example\"]");
	assert_string_equal(rego_text(field(cert, "IPAddresses")), "[\"10.1.2.3\"]");
	assert_string_equal(rego_text(field(cert, "URIStrings")),
	                    "[\"spiffe://example.org/unit\"]");
	assert_string_equal(rego_text(field(field(cert, "URIs")->u.items[0], "Host")),
	                    "\"example.org\"");
	assert_string_equal(rego_text(field(cert, "EmailAddresses")), "null");
	assert_string_equal(rego_text(field(cert, "IsCA")), "true");
	assert_string_equal(rego_text(field(cert, "PublicKeyAlgorithm")), "3");
	assert_string_equal(rego_text(field(cert, "SignatureAlgorithm")), "10");
	assert_string_equal(rego_text(field(cert, "Version")), "3");
	assert_string_equal(rego_text(field(cert, "NotBefore")), "\"2026-11-22T22:53:04Z\"");

	/* The same certificate as base64 of the PEM text. */
	size_t n;
	char *b64 = NULL;
	{
		static const char alphabet[] =
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t len = strlen(ec_cert_pem);
		b64 = rego_arena_alloc(&fx->arena, (len + 2) / 3 * 4 + 1);
		n = 0;
		for (size_t i = 0; i < len; i += 3) {
			unsigned v = (unsigned char)ec_cert_pem[i] << 16;
			if (i + 1 < len)
				v |= (unsigned char)ec_cert_pem[i + 1] << 8;
			if (i + 2 < len)
				v |= (unsigned char)ec_cert_pem[i + 2];
			b64[n++] = alphabet[(v >> 18) & 63];
			b64[n++] = alphabet[(v >> 12) & 63];
			b64[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
			b64[n++] = i + 2 < len ? alphabet[v & 63] : '=';
		}
		b64[n] = '\0';
	}
	assert_int_equal(CALL("crypto.x509.parse_certificates", STR(b64)), 0);
	assert_int_equal(fx->result->length, 1);

	EXPECT_ERROR(REGO_ERR_BUILTIN, "illegal base64 data at input byte 4",
	             "crypto.x509.parse_certificates", J("\"foobar\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "x509: malformed certificate",
	             "crypto.x509.parse_certificates", J("\"YmFkc3RyaW5n\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "PEM block type is 'PRIVATE KEY', expected CERTIFICATE",
	             "crypto.x509.parse_certificates", STR(ec_key_pem));
}

static void
test_x509_verify_chain(void **state)
{
	fx->ctx.now_ns = 1750000000 * NS_PER_S;
	assert_int_equal(CALL("crypto.x509.parse_and_verify_certificates", STR(chain_pem)), 0);
	assert_string_equal(rego_text(fx->result->u.items[0]), "true");
	const struct rego_value *chain = fx->result->u.items[1];
	assert_int_equal(chain->length, 3);
	assert_string_equal(rego_text(field(field(chain->u.items[0], "Subject"), "CommonName")),
	                    "\"notarealsite.opa.localhost\"");
	assert_string_equal(rego_text(field(field(chain->u.items[2], "Subject"), "CommonName")),
	                    "\"OPA Test Root CA\"");

	/* One certificate cannot form a chain; an expired chain does not verify. */
	EXPECT("[false, []]", "crypto.x509.parse_and_verify_certificates", STR(ec_cert_pem));
	fx->ctx.now_ns = 2200000000 * NS_PER_S;
	EXPECT("[false, []]", "crypto.x509.parse_and_verify_certificates", STR(chain_pem));
	EXPECT("[false, []]", "crypto.x509.parse_and_verify_certificates", J("\"foobar\""));

	fx->ctx.now_ns = 1750000000 * NS_PER_S;
	const char *with_options = "crypto.x509.parse_and_verify_certificates_with_options";
	assert_int_equal(CALL(with_options, STR(chain_pem),
	                      J("{\"DNSName\": \"notarealsite.opa.localhost\"}")),
	                 0);
	assert_string_equal(rego_text(fx->result->u.items[0]), "true");
	EXPECT("[false, []]", with_options, STR(chain_pem), J("{\"DNSName\": \"other.example\"}"));
	EXPECT("[false, []]", with_options, STR(chain_pem),
	       J("{\"KeyUsages\": [\"KeyUsageCodeSigning\"]}"));
	EXPECT("[false, []]", with_options, STR(chain_pem),
	       J("{\"CurrentTime\": 2200000000000000000}"));
	assert_int_equal(
	        CALL(with_options, STR(chain_pem), J("{\"KeyUsages\": [\"KeyUsageClientAuth\"]}")),
	        0);
	assert_string_equal(rego_text(fx->result->u.items[0]), "true");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid entries for 'KeyUsages' found: [bogus]",
	             with_options, STR(chain_pem), J("{\"KeyUsages\": [\"bogus\"]}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid key option", with_options, STR(chain_pem),
	             J("{\"Nope\": 1}"));
}

static void
test_x509_request_and_keys(void **state)
{
	assert_int_equal(CALL("crypto.x509.parse_certificate_request", STR(ec_csr_pem)), 0);
	assert_string_equal(rego_text(field(field(fx->result, "Subject"), "CommonName")),
	                    "\"req.example\"");
	assert_string_equal(rego_text(field(fx->result, "DNSNames")), "[\"req.example\"]");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "asn1: structure error",
	             "crypto.x509.parse_certificate_request", J("\"YmFkc3RyaW5n\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "illegal base64", "crypto.x509.parse_certificate_request",
	             J("\"foobar\""));

	EXPECT("{\"crv\": \"P-256\", \"d\": \"7ivagyphmC3LmaDpR87WkNs1V_KwBRqjgyVbYMjj5Fg\", "
	       "\"kty\": \"EC\", \"x\": \"iS3qllVc9_QPYdQeO4Or8cR0D0p2Nm0Zel1kJC0bX1E\", "
	       "\"y\": \"OUj5njYdRA4PIlcw2rc6u_thr2HNGkoxTz4FkGEgw9E\"}",
	       "crypto.x509.parse_rsa_private_key", STR(ec_key_pem));
	assert_int_equal(CALL("crypto.x509.parse_rsa_private_key", STR(rsa_key_pem)), 0);
	assert_string_equal(rego_text(field(fx->result, "e")), "\"AQAB\"");
	assert_string_equal(rego_text(field(fx->result, "p")),
	                    "\"9JXmt0s7faJRi4tylw0RoKzPIaYySf37zHiDf304SF0\"");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "illegal base64", "crypto.x509.parse_rsa_private_key",
	             J("\"invalid\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "input PEM data was empty",
	             "crypto.x509.parse_rsa_private_key", J("\"\""));

	assert_int_equal(CALL("crypto.parse_private_keys", STR(rsa_key_pem)), 0);
	assert_int_equal(fx->result->length, 1);
	assert_string_equal(rego_text(field(fx->result->u.items[0], "E")), "65537");
	assert_int_equal(field(fx->result->u.items[0], "Primes")->length, 2);
	EXPECT("[]", "crypto.parse_private_keys", J("\"nope\""));
	EXPECT("null", "crypto.parse_private_keys", J("\"\""));

	assert_int_equal(CALL("crypto.x509.parse_keypair", STR(ec_cert_pem), STR(ec_key_pem)), 0);
	assert_int_equal(field(fx->result, "Certificate")->length, 1);
	assert_string_equal(rego_text(field(field(fx->result, "PrivateKey"), "D")),
	                    "10772794050352274897630171255209960417147799752934921257541190101281"
	                    "7110885464");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "tls: private key type does not match public key type",
	             "crypto.x509.parse_keypair", STR(ec_cert_pem), STR(rsa_key_pem));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "PEM inputs may have been switched",
	             "crypto.x509.parse_keypair", STR(ec_key_pem), STR(ec_cert_pem));
}

static void
test_jwt_decode(void **state)
{
	EXPECT("[{\"alg\": \"HS256\", \"typ\": \"JWT\"}, {\"iss\": \"opa\", \"sub\": \"0\"}, "
	       "\"5e65682e81c8de9c4cb4c3bf59138d3122731940cff690e3cbc269d3fb5d4576\"]",
	       "io.jwt.decode",
	       J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwIiwiaXNzIjoib3BhIn0."
	         "XmVoLoHI3pxM"
	         "tMO_WRONMSJzGUDP9pDjy8Jp0_tdRXY\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "encoded JWT must have 3 sections, found 2", "io.jwt.decode",
	             J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXV.CJ9eyJzdWIiOiIwIiwiaXNzIjoib3BhIn0\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "encoded JWT had no period separators", "io.jwt.decode",
	             J("\"abc\""));
	EXPECT_ERROR(
	        REGO_ERR_BUILTIN,
	        "JWT payload had invalid encoding: illegal base64 data at input byte 17",
	        "io.jwt.decode",
	        J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwIiwia/XNzIjoib3BhIn0.XmVo"
	          "LoHI3pxMtMO_WRONMSJzGUDP9pDjy8Jp0_tdRXY\""));
	EXPECT_ERROR(
	        REGO_ERR_BUILTIN,
	        "JWT signature had invalid encoding: illegal base64 data at input byte 15",
	        "io.jwt.decode",
	        J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwIiwiaXNzIjoib3BhIn0.XmVoLo"
	          "HI3pxMtMO(_WRONMSJzGUDP9pDjy8Jp0_tdRXY\""));
	EXPECT_ERROR(
	        REGO_ERR_BUILTIN, "JWT is a JWE object, which is not supported", "io.jwt.decode",
	        J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImVuYyI6ImJsYWgifQ.eyJuZXciOiJJIGFtIGEgdX"
	          "NlciBjcmVhdGVkIGZpZWxkIiwiaXNzIjoib3BhIn0.McGUb1e-UviZKy6UyQErNNQzEUgeV25Buwk7OH"
	          "Oa8U8\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got array", "io.jwt.decode",
	             J("[]"));
}

static void
test_jwt_verify(void **state)
{
	const char *hs256 =
	        "\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiYWxpY2UiLCJhenAiOiJh"
	        "bGljZSIsInN1Ym9yZGluYXRlcyI6W10sImhyIjpmYWxzZX0.rz3jTY033z-NrKfwrK89_dc"
	        "LF7TN4gwCMj-fVBDyLoM\"";
	EXPECT("true", "io.jwt.verify_hs256", J(hs256), J("\"secret\""));
	EXPECT("false", "io.jwt.verify_hs256", J(hs256), J("\"Secret\""));
	EXPECT("false", "io.jwt.verify_hs384", J(hs256), J("\"secret\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "encoded JWT must have 3 sections, found 2",
	             "io.jwt.verify_hs256", J("\"a.b\""), J("\"secret\""));

	/* RFC 8037 A.4 style Ed25519 token signed by encode_sign, checked with a JWK. */
	const char *okp_private =
	        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"wEZFfoAj1rFKTLOOmjJjVZl"
	        "CHwksuvMb2I5y_hg70E8\",\"d\":\"9XI34uQzYUJfWhDZf_0nYsLMBRVu8a6dFsy"
	        "60P8uugk\"}";
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}"),
	                      J("{\"sub\":\"x\"}"), J(okp_private)),
	                 0);
	const struct rego_value *token = fx->result;
	assert_string_equal(
	        token->u.string,
	        "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.9iKl1EHc8QJHrX93EaS"
	        "LnjuvEc6G36twaTF_Bed3EPbbK5yKo46MuptxjlsfOe1xP5YZbvb1TMkR2iD6kYBMBg");
	EXPECT("true", "io.jwt.verify_eddsa", token,
	       STR("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	           "\"wEZFfoAj1rFKTLOOmjJjVZlCHwksuvMb2I5y_"
	           "hg70E8\"}"));
	EXPECT("false", "io.jwt.verify_rs256", token,
	       STR("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	           "\"wEZFfoAj1rFKTLOOmjJjVZlCHwksuvMb2I5y_"
	           "hg70E8\"}"));

	/* ES256 signed with the test key, verified with its certificate. */
	assert_int_equal(CALL("crypto.x509.parse_rsa_private_key", STR(ec_key_pem)), 0);
	const struct rego_value *ec_jwk = fx->result;
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\":\"ES256\"}"),
	                      J("{\"iss\":\"me\",\"exp\":4000000000}"), ec_jwk),
	                 0);
	token = fx->result;
	EXPECT("true", "io.jwt.verify_es256", token, STR(ec_cert_pem));
	EXPECT("false", "io.jwt.verify_es384", token, STR(ec_cert_pem));
	EXPECT("false", "io.jwt.verify_rs256", token, STR(ec_cert_pem));

	EXPECT_ERROR(REGO_ERR_BUILTIN, "failed to parse a JWK key (set)", "io.jwt.verify_rs256",
	             token, J("\"{\\\"kty\\\":\\\"bogus key type\\\"}\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "extra data after a PEM certificate block",
	             "io.jwt.verify_es256", token,
	             STR("-----BEGIN CERTIFICATE-----\n"
	                 "MIIB5jCCAYugAwIBAgIUJWuWKpg98MfrubW+vLRxxTsUgukwCgYIKoZIzj0EAwIw\n"
	                 "-----END CERTIFICATE-----\nEXTRA"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "failed to extract a Key from the PEM certificate",
	             "io.jwt.verify_es256", token,
	             STR("-----BEGIN CERT-----\nAAAA\n-----END CERT-----"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "failed to parse a PEM certificate", "io.jwt.verify_es256",
	             token, STR("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"));
}

static void
test_jwt_decode_verify(void **state)
{
	assert_int_equal(CALL("crypto.x509.parse_rsa_private_key", STR(ec_key_pem)), 0);
	const struct rego_value *ec_jwk = fx->result;
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\":\"ES256\",\"kid\":\"k1\"}"),
	                      J("{\"iss\":\"me\",\"aud\":[\"a\",\"b\"],\"exp\":4000000000,"
	                        "\"nbf\":1000}"),
	                      ec_jwk),
	                 0);
	const struct rego_value *token = fx->result;
	const char *claims = "{\"aud\": [\"a\", \"b\"], \"exp\": 4000000000, \"iss\": \"me\", "
	                     "\"nbf\": 1000}";
	char want[512];
	snprintf(want, sizeof(want), "[true, {\"alg\": \"ES256\", \"kid\": \"k1\"}, %s]", claims);

	fx->ctx.now_ns = 1800000000 * NS_PER_S;
	const struct rego_value *cert = STR(ec_cert_pem);
	struct rego_member m[3] = {
		{ STR("cert"), cert },
		{ STR("aud"), STR("b") },
		{ STR("iss"), STR("me") },
	};
	EXPECT(want, "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 3));
	m[2].value = STR("you");
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 3));
	/* Without an audience constraint a token that names one is refused. */
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 1));
	/* Expired by the query time, or by an explicit time. */
	m[1] = (struct rego_member){ STR("aud"), STR("a") };
	fx->ctx.now_ns = 4000000001 * NS_PER_S;
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 2));
	m[2] = (struct rego_member){ STR("time"), J("1800000000000000000") };
	EXPECT(want, "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 3));
	m[2].value = J("999000000000");
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 3));

	/* A JWK set: the key with the matching kid is used. */
	const char *jwks_fmt =
	        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"x\":"
	        "\"iS3qllVc9_QPYdQeO4Or8cR0D0p2Nm0Zel1kJC0bX1E\",\"y\":\"OUj5njYdRA4P"
	        "Ilcw2rc6u_thr2HNGkoxTz4FkGEgw9E\"}]}";
	m[0].value = STR(jwks_fmt);
	m[2].value = J("1800000000000000000");
	EXPECT(want, "io.jwt.decode_verify", token, rego_object(&fx->arena, m, 3));

	/* HS256 with float nbf/exp compared at sub-second precision. */
	const struct rego_value *hs = J("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	                                "eyJleHAiOjEuNTg5Mzg1NzcxMTIzNGUrMDksImlzcyI6"
	                                "Inh4eCJ9.PZ2z6VfHt9YdvHHUbilkTnw4R9TK3_V0LV1h-q0k9xg\"");
	EXPECT("[true, {\"alg\": \"HS256\", \"typ\": \"JWT\"}, {\"exp\": 1589385771.1234, \"iss\": "
	       "\"xxx\"}]",
	       "io.jwt.decode_verify", hs,
	       J("{\"secret\": \"secret\", \"time\": 1589385771023400000}"));
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", hs,
	       J("{\"secret\": \"secret\", \"time\": 1589385771123400000}"));
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", hs,
	       J("{\"secret\": \"wrong\", \"time\": 1589385771023400000}"));
	EXPECT("[false, {}, {}]", "io.jwt.decode_verify", hs,
	       J("{\"secret\": \"secret\", \"alg\": \"HS512\", \"time\": 1}"));

	EXPECT_ERROR(REGO_ERR_BUILTIN, "no key constraint", "io.jwt.decode_verify", hs,
	             J("{\"iss\": \"xxx\"}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "duplicate key constraints", "io.jwt.decode_verify", hs,
	             rego_object(&fx->arena,
	                         (struct rego_member[]){ { STR("cert"), cert },
	                                                 { STR("secret"), STR("x") } },
	                         2));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "unknown token validation constraint: bogus",
	             "io.jwt.decode_verify", hs, J("{\"secret\": \"s\", \"bogus\": 1}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be object but got string",
	             "io.jwt.decode_verify", hs, J("\"s\""));

	/* Claims of the wrong type are errors once the signature verifies. */
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\":\"HS256\"}"), J("{\"exp\":null}"),
	                      J("{\"kty\":\"oct\",\"k\":\"NDI\"}")),
	                 0);
	EXPECT_ERROR(REGO_ERR_BUILTIN, "exp value must be a number", "io.jwt.decode_verify",
	             fx->result, J("{\"secret\": \"42\"}"));
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\":\"HS256\"}"), J("{\"nbf\":\"x\"}"),
	                      J("{\"kty\":\"oct\",\"k\":\"NDI\"}")),
	                 0);
	EXPECT_ERROR(REGO_ERR_BUILTIN, "nbf value must be a number", "io.jwt.decode_verify",
	             fx->result, J("{\"secret\": \"42\"}"));
}

static void
test_jwt_encode_sign(void **state)
{
	EXPECT("\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOlsiYm9iIiwic2F1bCJdLCJleHAiOjEzMDA"
	       "4MTkzODAsImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlLCJpc3MiOiJqb2UiLCJwcml2YXRlUG"
	       "Fy"
	       "YW1zIjp7InByaXZhdGVfb25lIjoib25lIiwicHJpdmF0ZV90d28iOiJ0d28ifX0.-Or2eol8bzly-"
	       "Ztb0v7_7"
	       "UkcKBkN_aNNpK33HK0MeOY\"",
	       "io.jwt.encode_sign", J("{\"alg\": \"HS256\", \"typ\": \"JWT\"}"),
	       J("{\"aud\": [\"bob\", \"saul\"], \"exp\": 1300819380, "
	         "\"http://example.com/is_root\": "
	         "true, \"iss\": \"joe\", \"privateParams\": {\"private_one\": \"one\", "
	         "\"private_two\": \"two\"}}"),
	       J(RFC7515_OCT_JWK));
	EXPECT("\"eyJ0eXAiOiJ0ZXh0L3BsYWluIiwNCiAiYWxnIjoiSFMyNTYifQ..sXoGQMWwM-SmX495-"
	       "htA7kndgbkwz1"
	       "PnqsDeY275gnI\"",
	       "io.jwt.encode_sign_raw", STR("{\"typ\":\"text/plain\",\r\n \"alg\":\"HS256\"}"),
	       J("\"\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "type is JWT but payload is not JSON",
	             "io.jwt.encode_sign_raw", STR("{\"typ\":\"JWT\",\"alg\":\"HS256\"}"),
	             J("\"e\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "unknown JWS algorithm: dummy", "io.jwt.encode_sign_raw",
	             STR("{\"alg\":\"dummy\"}"), J("\"{}\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(REGO_ERR_BUILTIN,
	             "missing or invalid 'alg' header: jwsbb: header \"alg\" not found",
	             "io.jwt.encode_sign_raw", J("\"{}\""), J("\"{}\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(REGO_ERR_BUILTIN,
	             "missing or invalid 'alg' header: jwsbb: header \"alg\" not found",
	             "io.jwt.encode_sign_raw", J("\"e\""), J("\"{}\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(
	        REGO_ERR_BUILTIN,
	        "missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string",
	        "io.jwt.encode_sign_raw", J("\"\""), J("\"{}\""), STR(RFC7515_OCT_JWK));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "missing or invalid 'alg' header: cannot parse JSON",
	             "io.jwt.encode_sign_raw", STR("{\"typ:\"JWT\", \"alg\":\"HS256\"}"),
	             J("\"{}\""), STR(RFC7515_OCT_JWK));
	/* HTML characters are escaped as Go's json.Marshal does. */
	assert_int_equal(CALL("io.jwt.encode_sign", J("{\"alg\": \"HS256\"}"),
	                      J("{\"a\": \"<&>\"}"), J(RFC7515_OCT_JWK)),
	                 0);
	assert_int_equal(CALL("io.jwt.decode", fx->result), 0);
	assert_string_equal(rego_text(fx->result->u.items[1]), "{\"a\": \"<&>\"}");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "failed to sign payload", "io.jwt.encode_sign",
	             J("{\"alg\": \"RS256\"}"), J("{}"), J(RFC7515_OCT_JWK));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_digests, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_hmacs, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_x509_parse_certificates, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_x509_verify_chain, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_x509_request_and_keys, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_jwt_decode, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_jwt_verify, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_jwt_decode_verify, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_jwt_encode_sign, builtin_setup,
		                                builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
