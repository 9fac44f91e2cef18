-- Sparkle Car Care's business data: what the business team edits.
-- (Services, prices and hours move here from config/tenants/carwash.lua.)
return {
  -- Words customers type, as the bot should read them: each entry is the
  -- word the bot understands, then the spellings customers use for it.
  words = {
    tomorrow = { "tmrw", "tomoro", "tommorow", "tomorow", "tmrow" },
    name = { "naem", "nam", "nme" },
    number = { "numbr", "nmbr", "numbar", "no." },
    swift = { "swfit", "swif" },
    addons = { "add ons", "add on", "addon" },
    detailing = { "detaling", "deatiling" },
    ["full detailing"] = { "full detail" },
  },

  -- Questions customers ask, and the message (in messages.lua) that answers
  -- them. A question is answered and the current question asked again.
  faq = {
    { answer = "faq_hours", phrases = { "are you open", "open on", "opening hours", "opening time", "closing time",
                                        "timings", "working hours", "what time do you open", "kab khulte", "kab tak khule" } },
    { answer = "faq_location", phrases = { "where are you", "where are you located", "your location", "address",
                                           "where is your shop", "how to reach", "directions", "kahan hai" } },
    { answer = "faq_home_service", phrases = { "at my home", "at home", "home service", "doorstep", "come to my house",
                                               "pick up my car", "ghar pe", "ghar par" } },
    { answer = "faq_services", phrases = { "difference between", "whats the difference", "what is the difference",
                                           "what is included", "whats included", "which is better" } },
    { answer = "faq_payment", phrases = { "payment", "pay by card", "upi", "gpay", "paytm", "pay online" } },
  },
}
