return {
  en = {
    echo = "{n}: {text}",
    not_understood = "Sorry?", handoff = "A colleague will write.", expired = "Again.",
    fallback = "Sorry, Relay had a problem.",
  },
}
