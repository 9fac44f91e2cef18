-- What the assistant may tell a prospect, by topic. Only the topics a
-- message is about go into the LLM's prompt (answer.lua), never the whole
-- base. `words`: what a prospect writes when asking about it (small letters).
return {
  {
    id = "pricing",
    words = { "price", "pricing", "cost", "how much", "per seat", "plan", "стоимость", "цена", "сколько стоит" },
    text = [[
Sales Co CRM costs 49 USD per user a month on the Team plan and 89 USD on the Business plan.
Paid yearly, two months are free. A 14 day trial needs no card.]],
  },
  {
    id = "integrations",
    words = { "integrat", "telegram", "whatsapp", "gmail", "api", "zapier", "интеграц" },
    text = [[
Sales Co CRM connects to Gmail, Outlook, Telegram and WhatsApp out of the box, and to anything
else through its REST API and Zapier.]],
  },
  {
    id = "security",
    words = { "security", "gdpr", "data", "encrypt", "безопасн", "данные" },
    text = [[
Data is stored in the EU, encrypted at rest and in transit. Sales Co is GDPR compliant and
signs a DPA on request.]],
  },
}
