-- Anna: formal, calm, never an emoji, at most three sentences.
return {
  tone = {
    { "no_em_dashes" },
    { "formal", "ru" },                -- Russian to one person: "Вы", capitalised
    { "formal", "en" },
    { "max_sentences", 3 },
    { "emoji", "none" },
    { "trim" },
  },
  messages = {
    en = {
      greeting = "Good day, this is Anna's assistant at {tenant}. Thank you for your message.",
      ask_need = "Could you tell me what you would like to achieve?",
      booked = "Thank you, your call with Anna is confirmed for {when}. The Zoom link: {link}",
    },
  },
}
