-- tone's formal Russian: "Вы" to one person, capitalised, in every form;
-- "ты" and its forms turned into it.
local tone = require "tone"

describe("tone formal ru", function()
  local say = tone.pipeline{ { "formal", "ru" } }

  it("capitalises вы in every form and turns ты into Вы", function()
    assert.are.equal("Спасибо, что Вы написали. Ваш звонок в 10:00, Вам удобно?",
      say("Спасибо, что вы написали. Ваш звонок в 10:00, вам удобно?"))
    -- (pronouns only: verbs are written formally in the texts themselves)
    assert.are.equal("Вы, я отправлю Вам ссылку на Ваш email.", say("Ты, я отправлю тебе ссылку на твой email."))
    assert.are.equal("Вас ждать?", say("Тебя ждать?"))
  end)

  it("leaves other words with the same letters alone, and English as it is", function()
    assert.are.equal("Вывод: ваза стоит в тыкве.", say("Вывод: ваза стоит в тыкве."))
    assert.are.equal("Thank you, we will call you.", say("Thank you, we will call you."))
  end)
end)
