#pragma once
// Keys for the push tests, made once with the openssl CLI (OpenSSL 3.0):
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048   (rsa2048_pem)
//   openssl rsa -in rsa2048.pem -traditional                       (rsa2048_pkcs1_pem)
//   openssl ecparam -name prime256v1 -genkey                       (p256_sec1_pem)
//   openssl pkcs8 -topk8 -passout pass:secret                      (p256_encrypted_pem)
//   openssl pkey -traditional -aes128 -passout pass:secret         (p256_encrypted_trad_pem)
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 (p384_pem)
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024   (rsa1024_pem)
//   openssl genpkey -algorithm ED25519                             (ed25519_pem)
// Test keys only: they sign nothing outside these tests.

namespace centralita::push::test_keys {

inline constexpr const char* rsa2048_pem = R"(-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC8xE8WCFEzv59Y
SBUf0QyXCQBC+hjCYsFZpY98Lke2S48sfp1VPiRFRtNkHEBF2zfKnGlH17JLPcrY
dPFZLMtOGkWPmBTVPCAupwgxB68B4I7qVxsx2XTxlxoIkbekEtPdRlynEFw/VoGH
s6yy8CsBAGcI0jMued72oCx0Ca8ijg6bx9bW2asMt40tnikqjk/a+5p48T0DSKr9
5neFxglRRlbnoYFsjsgXZFSm07tHW6JFOwS3bQOAyx2SykUZh49gnae61KciwjN3
PEx3J73ysu/bNwZXavyCtxALUQxJj8NTMWGiVLptmK26baQvmT98l0TUJd+76XmD
zfizvWadAgMBAAECggEAARkeQalOOaAXf/a5Yrw/V8CWZw1X6AeVit028ri9M48I
d/CLn0OTh/Cjya0NZaqjDjNvPFsBn0TugWhawBNN4nguJ+nxUxU8tbDEkC50gu0I
v82+a4GRl9cycFLSr+ppH5wpbVJfywGIkt7FdiwGAAU91DQO1qogVSx03b7xrSCG
X+8YpDSuQONFAtF2HcohKCVenE6WW4cGsSKIIJm/mtumxxz05Fm3F0d/VeiGhihm
RoSBHuYSN8ZGOATp2ko2glYBQKeCqeAkLR6oJV1nvXdwa2HIx3adJF5aX0FNYsRQ
5/hY0rAABb7ytoExMQDtv+AJXl3Z9EWGmJ85oGsMYQKBgQDeJi3lQSaqceYCPUcM
aNNAqzvKJM2FLg7FmZFJ+BjHBIgzNki3mli+yOlJr2op9yrzAmg72a9L37BEIDQ3
fVBxtiMTnL9rjx58+6S3UtHmH4UuzssCGF7xnIoPj6BjcXd8lEcppUhz3ebzLv0X
ZNapJelRyszXxl3hfU3xjZWRIQKBgQDZh+skPwfNsc0UB1taXS4V4lgRAes0JYur
M4Ak5zv6NmlxPQYxhpkeSztX6eiFm3Jdu4BEpo0f+sCKWigEaKKv2M0cUfIaP1Ud
i/zMBT7GSOb9bv30TOJXH5cZ7The73X/toT3AAVAhU5gxD45u702nf/foPQYKO02
5eK8WejZ/QKBgHRy6wgL2Orr/bgayw2UPXjeyd6y4BD6DcBDOcfeh457r7G4uPGV
tQN9ady4WRxadmcgUedduug4/7sWbojP5cVVxplXR3hoc4DsoHGAtoq85yGcQQp+
H/bjKfPyRA8cwZfKWmtYOtyR66h6by0+LNBKET5Q4oQRddDn0F3Y7BhBAoGBALqg
M4qbUPSWUF2YmjWCr+EymV+uB75rX9J3kr8Wa4yVVg1Cz6d51K/612TrVwQZgxsL
nFZJldYT6VBJXP+7TagUFpTvcQg3waxhx3a6IUs4jIRtzw7jT2Rzw80Iik5YnyHN
03Gd4OOj+sRmWQRrH0BWeYnAqup3YlyxCb+SW4V5AoGBAJB6CPBK5NncX817ZPQi
3qRpJiK82IiZVFgf9eff/2HXFSz+bBfizuhIAm8xnWz7k1rKbzlc+MOhDauwrQ7/
XKZtIGng6yqqfrU0SMayeqf28Id/6MGbbC3s273VByBhUyOYONsH+113VNDKMaBt
zjI9JnANs2QZZYwaB+N1xHNd
-----END PRIVATE KEY-----
)";

inline constexpr const char* rsa2048_pkcs1_pem = R"(-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAvMRPFghRM7+fWEgVH9EMlwkAQvoYwmLBWaWPfC5HtkuPLH6d
VT4kRUbTZBxARds3ypxpR9eySz3K2HTxWSzLThpFj5gU1TwgLqcIMQevAeCO6lcb
Mdl08ZcaCJG3pBLT3UZcpxBcP1aBh7OssvArAQBnCNIzLnne9qAsdAmvIo4Om8fW
1tmrDLeNLZ4pKo5P2vuaePE9A0iq/eZ3hcYJUUZW56GBbI7IF2RUptO7R1uiRTsE
t20DgMsdkspFGYePYJ2nutSnIsIzdzxMdye98rLv2zcGV2r8grcQC1EMSY/DUzFh
olS6bZitum2kL5k/fJdE1CXfu+l5g834s71mnQIDAQABAoIBAAEZHkGpTjmgF3/2
uWK8P1fAlmcNV+gHlYrdNvK4vTOPCHfwi59Dk4fwo8mtDWWqow4zbzxbAZ9E7oFo
WsATTeJ4Lifp8VMVPLWwxJAudILtCL/NvmuBkZfXMnBS0q/qaR+cKW1SX8sBiJLe
xXYsBgAFPdQ0DtaqIFUsdN2+8a0ghl/vGKQ0rkDjRQLRdh3KISglXpxOlluHBrEi
iCCZv5rbpscc9ORZtxdHf1XohoYoZkaEgR7mEjfGRjgE6dpKNoJWAUCngqngJC0e
qCVdZ713cGthyMd2nSReWl9BTWLEUOf4WNKwAAW+8raBMTEA7b/gCV5d2fRFhpif
OaBrDGECgYEA3iYt5UEmqnHmAj1HDGjTQKs7yiTNhS4OxZmRSfgYxwSIMzZIt5pY
vsjpSa9qKfcq8wJoO9mvS9+wRCA0N31QcbYjE5y/a48efPukt1LR5h+FLs7LAhhe
8ZyKD4+gY3F3fJRHKaVIc93m8y79F2TWqSXpUcrM18Zd4X1N8Y2VkSECgYEA2Yfr
JD8HzbHNFAdbWl0uFeJYEQHrNCWLqzOAJOc7+jZpcT0GMYaZHks7V+nohZtyXbuA
RKaNH/rAilooBGiir9jNHFHyGj9VHYv8zAU+xkjm/W799EziVx+XGe04Xu91/7aE
9wAFQIVOYMQ+Obu9Np3/36D0GCjtNuXivFno2f0CgYB0cusIC9jq6/24GssNlD14
3snesuAQ+g3AQznH3oeOe6+xuLjxlbUDfWncuFkcWnZnIFHnXbroOP+7Fm6Iz+XF
VcaZV0d4aHOA7KBxgLaKvOchnEEKfh/24ynz8kQPHMGXylprWDrckeuoem8tPizQ
ShE+UOKEEXXQ59Bd2OwYQQKBgQC6oDOKm1D0llBdmJo1gq/hMplfrge+a1/Sd5K/
FmuMlVYNQs+nedSv+tdk61cEGYMbC5xWSZXWE+lQSVz/u02oFBaU73EIN8GsYcd2
uiFLOIyEbc8O409kc8PNCIpOWJ8hzdNxneDjo/rEZlkEax9AVnmJwKrqd2JcsQm/
kluFeQKBgQCQegjwSuTZ3F/Ne2T0It6kaSYivNiImVRYH/Xn3/9h1xUs/mwX4s7o
SAJvMZ1s+5Naym85XPjDoQ2rsK0O/1ymbSBp4Osqqn61NEjGsnqn9vCHf+jBm2wt
7Nu91QcgYVMjmDjbB/tdd1TQyjGgbc4yPSZwDbNkGWWMGgfjdcRzXQ==
-----END RSA PRIVATE KEY-----
)";

inline constexpr const char* rsa2048_public_pem = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvMRPFghRM7+fWEgVH9EM
lwkAQvoYwmLBWaWPfC5HtkuPLH6dVT4kRUbTZBxARds3ypxpR9eySz3K2HTxWSzL
ThpFj5gU1TwgLqcIMQevAeCO6lcbMdl08ZcaCJG3pBLT3UZcpxBcP1aBh7OssvAr
AQBnCNIzLnne9qAsdAmvIo4Om8fW1tmrDLeNLZ4pKo5P2vuaePE9A0iq/eZ3hcYJ
UUZW56GBbI7IF2RUptO7R1uiRTsEt20DgMsdkspFGYePYJ2nutSnIsIzdzxMdye9
8rLv2zcGV2r8grcQC1EMSY/DUzFholS6bZitum2kL5k/fJdE1CXfu+l5g834s71m
nQIDAQAB
-----END PUBLIC KEY-----
)";

inline constexpr const char* p256_sec1_pem = R"(-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBYQJSBmudy+mp/QjHc1Ec/k0GIFh7xvkOR4etXsWpNJoAoGCCqGSM49
AwEHoUQDQgAEfDrfnRcbNqA322XPiXrjOn4VqoYhJ6td6MEkLuj9WAGQMOAp5UKX
bLTWrgIf02jD0myYEnTEiZR9l1cEUvPF6A==
-----END EC PRIVATE KEY-----
)";

inline constexpr const char* p256_public_pem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfDrfnRcbNqA322XPiXrjOn4VqoYh
J6td6MEkLuj9WAGQMOAp5UKXbLTWrgIf02jD0myYEnTEiZR9l1cEUvPF6A==
-----END PUBLIC KEY-----
)";

inline constexpr const char* p256_encrypted_pem = R"(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgMTAS/XU84eAICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEJUgu+Fy0I7rzPwrulqFpUEEgZAd
TVrXwGLTpNjTrMi1Ss1ZnhrcTcXvSsiJLEYi2C5CFhFHStVHzpDJRRhdTR1eE8wT
D1fkXgcf/YFaLOZ93CDKbto2lEzGAEzRmfVswxMMGHouqtxlGoBXSTOzvxiJgKT6
BlU22UwrDCiQL+u/iH/ARkRO+oyH1Zu2ecfxRjMT4N97/9oz8IA0fXgLSqwGpuY=
-----END ENCRYPTED PRIVATE KEY-----
)";

inline constexpr const char* p256_encrypted_trad_pem = R"(-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,68E7E6A4D73AD2577AFD7F027C3A114D

a8/dCTf96wx0ver4006SSdGtv3BlAlhsCZpJsYtJdOeTxTfGc+W3vxi/DFbtqrbX
0DGbc4lKl18Ug421Yv9nxeXrfA4kgjINKR04vkbaVHv1XdYFBCln7CSoEmCA1GzK
LsUAYwheYFvbsiuZ9xS4k+879GCnfZuReRo5/HMPwVQ=
-----END EC PRIVATE KEY-----
)";

inline constexpr const char* p384_pem = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDExubFc3giTGqqt4hq
G+3Z00hWBQjFvWVPpHaJbtFR/uCGRaAyRrKT6qil56pT4uChZANiAARZqoocbmu9
yaLaonskVxkG5KaQmhYx+O5l21/wWqmzqcraqaResorjkt07ofWtGkAzeo7rgEWu
44mPDDXTeL2WNLZQ01zEt0j+9nmvj3mJfuMjLSdLKA7ekZUtBJl7Z00=
-----END PRIVATE KEY-----
)";

inline constexpr const char* rsa1024_pem = R"(-----BEGIN PRIVATE KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBALWlng75nnDKv4hd
0dmGrg7OuSSxdzuHza/szkBYk1QEJb0pUmW2jh/8Gg6Gh/nW/tnfK9k4t70IHzaf
CUw+Qoc/NahssplBHvmEFky+xwp/tOM0RDSHhInrUjMPWWFDa0JLXCoz2lBvE4M6
ABw2undaicCk/H7kgMB4s24vY5ItAgMBAAECgYAkCB46Sjmrlgw4OKQPyi9ssIT5
SlqkbGPYqdif2vIekFQMGc5GbtfycEea6gS/Am67ORGxnRaVYK8QXquxfAgmBb89
f7/lnuLBGG/xPrNywQRiOmDO6qAKxxAFImRlPWMv5SN2AixKCNt8emxd9zEk8+/V
FktVcYt9TJGJbRPCAQJBAPHGHtslbCcaChciNOs6AL+Ge+vNhEfpbsOIGNWtz5Tm
tEc225y+PXnqoGyZJjvSfk9/X5w2Uo8BLelBn+ziQXECQQDAVctwhQk083LoSSF2
gsT523lsoz8Rd7YIirB4Ls5MhT0I9p0XTPxUC/OK54EsjFyB40oSD4My+qH/ejHZ
9H59AkBELq0w/CK9/DfwQjNOSvM/D/wOiczOQuR7u/vU9sldopogozXXxEauBR7s
wVvo7vm0DaW29hLeRWTfLSSet0fhAkAtaZR5YtADsp+k/O9rvgCoRgvrfLf9ddiD
N8vm9JY9NxBsN15sC/9gENpWJ8c2L4YAHRx2GzeNJ+RsH/v5TGM5AkBAOW8SK09/
zXCGY1HoKfkqwdteuVfQgebJqQUKXVEdd2GU6K68QKENBgOfCNul0KDPn8mXfAkD
j6FW35ibtkEm
-----END PRIVATE KEY-----
)";

inline constexpr const char* ed25519_pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDZyV1hsI80iuJqtXWYDiUIrgb2JAPwGHb4YotgmDoGg
-----END PRIVATE KEY-----
)";

} // namespace centralita::push::test_keys
