#pragma once

#include "actors/sip/sip_counters.hpp"
#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"
#include "protocols/sip/message.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::actors {

/// Who "we" are: what makes a Request-URI ours.
struct local_identity {
  std::vector<std::string> domains;  ///< lower-case host names and address literals
  std::vector<uint16_t> ports;       ///< listening ports (a URI without port means 5060)
  std::string server_header;         ///< value of the Server header on our responses
};

/// An answer to send and where to send it.
struct stateless_reply {
  std::string bytes;
  drivers::endpoint destination;
  int status = 0;
};

/// The stateless behaviour of the switch before transactions exist: answers
/// what it can answer on its own (OPTIONS to us: 200; Max-Forwards 0: 483;
/// broken requests: 400 naming the problem; unknown methods: 501; users: 404;
/// stray CANCEL: 481) and drops what must not be answered (ACK, responses).
/// No CAF: the shard actor calls it, unit tests call it directly.
class stateless_core {
public:
  explicit stateless_core(local_identity id);

  /// Handles one inbound message. `source` is the packet's source address.
  std::optional<stateless_reply> handle(std::string_view bytes, const drivers::endpoint& source,
                                        drivers::transport_kind transport,
                                        sip_counters& counters) const;

  /// The fast path for keep-alive pings: answers an OPTIONS addressed to the
  /// switch itself (no user part) statelessly; nullopt for anything else.
  /// `counters` counts the request and the answer.
  std::optional<stateless_reply> ping(sip::message& msg, const drivers::endpoint& source,
                                      drivers::transport_kind transport,
                                      sip_counters& counters) const;

  /// A 513 for an over-long message whose header block is `headers` (TCP).
  std::optional<std::string> too_large(std::string_view headers,
                                       const drivers::endpoint& source) const;

  /// True when `host` (and `port`, 0 = none given) names this switch.
  bool is_local(std::string_view host, uint16_t port) const;

  static constexpr const char* allow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE";

private:
  std::optional<stateless_reply> answer_parsed(sip::message& msg,
                                               const drivers::endpoint& source,
                                               drivers::transport_kind transport,
                                               sip_counters& counters) const;

  /// An error response built from raw bytes that did not parse (§8.2.6).
  std::optional<std::string> error_response(std::string_view raw, int status,
                                            std::string_view reason,
                                            const drivers::endpoint& source) const;

  local_identity id_;
};

/// Where a response to a request goes (RFC 3261 §18.2.2, RFC 3581 §4): the
/// source address, and the source port when the top Via has rport, else the
/// Via's sent-by port (default 5060). Over TCP, the connection's peer.
drivers::endpoint response_destination(const sip::via& top, const drivers::endpoint& source,
                                       drivers::transport_kind transport);

} // namespace centralita::actors
