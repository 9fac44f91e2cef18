-- Ben: friendly and brief, one emoji allowed, two sentences at most.
return {
  tone = {
    { "no_em_dashes" },
    { "formal", "ru" },                -- Russian to one person: "Вы", capitalised
    { "max_sentences", 2 },
    { "emoji", 1 },
    { "trim" },
  },
  messages = {
    en = {
      greeting = "Hi there, Ben's assistant here 👋",
      ask_need = "So what are you hoping to fix?",
      booked = "Booked! 🎉 You and Ben are on for {when}. Zoom: {link}",
    },
  },
}
