#pragma once

// Real-world SDP bodies shared by the SDP tests (CRLF line ends as on the wire).

#include <string>

namespace centralita::sdp::samples {

/// `sipp -sd uac_pcap`'s INVITE body, keywords filled in.
inline const std::string sipp_uac_pcap =
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 8 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-11,16\r\n";

/// A baresip offer: opus stereo, PCMU/PCMA, telephone-event at both clock rates.
inline const std::string baresip_offer =
    "v=0\r\n"
    "o=- 1612358424 1612358425 IN IP4 192.168.1.20\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "m=audio 10256 RTP/AVP 96 0 8 101 102\r\n"
    "b=AS:512\r\n"
    "b=TIAS:64000\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=rtpmap:102 telephone-event/8000\r\n"
    "a=fmtp:102 0-15\r\n"
    "a=rtcp-rsize\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:3928834283 cname:1e9f23bc-5ee9-4c5b\r\n"
    "a=mid:audio\r\n"
    "a=ptime:20\r\n";

/// A WebRTC-ish offer: ICE, DTLS-SRTP, rtcp-mux, BUNDLE, media-level c= only.
inline const std::string webrtc_offer =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS stream1\r\n"
    "a=ice-options:trickle\r\n"
    "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 110\r\n"
    "c=IN IP4 203.0.113.7\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\r\n"
    "a=candidate:842163049 1 udp 1686052607 203.0.113.7 54400 typ srflx raddr 192.168.0.196 "
    "rport 46243 generation 0\r\n"
    "a=ice-ufrag:Oyef\r\n"
    "a=ice-pwd:7Gerw1rHBd2yNtw6tR9QmRv4\r\n"
    "a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:"
    "F4:70:03:E7:43:91:73:23:5E\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream1 track1\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=ssrc:1001 cname:abcdefgh\r\n";

/// Audio plus a video stream the offerer disabled (RFC 3264 §5.1: port 0).
inline const std::string audio_video_disabled =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
    "s=\r\n"
    "c=IN IP4 host.atlanta.example.com\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 97\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:97 iLBC/8000\r\n"
    "m=video 0 RTP/AVP 31 32\r\n"
    "a=rtpmap:31 H261/90000\r\n"
    "a=rtpmap:32 MPV/90000\r\n";

/// IPv6 loopback, a=rtcp with an address (RFC 3605).
inline const std::string ipv6_rtcp =
    "v=0\r\n"
    "o=- 10 20 IN IP6 ::1\r\n"
    "s=-\r\n"
    "c=IN IP6 ::1\r\n"
    "t=0 0\r\n"
    "m=audio 7078 RTP/AVP 0\r\n"
    "a=rtcp:7079 IN IP6 ::1\r\n";

} // namespace centralita::sdp::samples
