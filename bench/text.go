package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The texts of the dataset: Russian (about 70%) and English requests,
// comments and names of the kind a vendor of a security platform and a
// hosted customer portal receives, of realistic length. Everything is drawn
// from the request's own random source, so it is deterministic.

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

type lang int

const (
	ru lang = iota
	en
)

var (
	ruFirstM = []string{"Алексей", "Андрей", "Борис", "Василий", "Виктор", "Глеб", "Дмитрий", "Евгений", "Игорь", "Илья", "Кирилл", "Максим", "Михаил", "Никита", "Олег", "Павел", "Роман", "Сергей", "Степан", "Юрий"}
	ruFirstF = []string{"Анна", "Валентина", "Галина", "Дарья", "Екатерина", "Елена", "Ирина", "Ксения", "Людмила", "Марина", "Наталья", "Ольга", "Светлана", "Татьяна", "Юлия"}
	ruLast   = []string{"Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров"}
	enFirst  = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "Daniel", "Sarah", "Thomas", "Karen", "Mark", "Nancy", "Paul", "Laura", "Steven", "Emma"}
	enLast   = []string{"Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Hill"}

	ruOrgForm  = []string{"ООО", "АО", "ПАО", "ГУП", "МУП", "ФГУП"}
	ruOrgWord1 = []string{"Северный", "Южный", "Восточный", "Западный", "Центральный", "Уральский", "Сибирский", "Волжский", "Балтийский", "Донской", "Невский", "Камский", "Приокский", "Городской", "Областной"}
	ruOrgWord2 = []string{"энергосбыт", "водоканал", "теплосеть", "склад", "логистический центр", "торговый дом", "банк", "завод", "комбинат", "технопарк", "медицинский центр", "университет", "аэропорт", "порт", "терминал"}
	enOrgWord1 = []string{"Alfa", "Beta", "Gamma", "Delta", "Northern", "Baltic", "Ural", "Volga", "Polar", "Atlas", "Orion", "Vega", "Nord", "Sigma", "Omega"}
	enOrgWord2 = []string{"Energy", "Logistics", "Retail", "Water", "Holdings", "Terminals", "Foods", "Metals", "Pharma", "Telecom", "Airport", "Bank", "Systems", "Grid", "Transit"}
)

func personName(r *rand.Rand, l lang) string {
	if l == en {
		return pick(r, enFirst) + " " + pick(r, enLast)
	}
	if r.IntN(2) == 0 {
		return pick(r, ruFirstF) + " " + pick(r, ruLast) + "а"
	}
	return pick(r, ruFirstM) + " " + pick(r, ruLast)
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+7 %03d %03d-%02d-%02d", 300+r.IntN(600), r.IntN(1000), r.IntN(100), r.IntN(100))
}

func orgName(r *rand.Rand, i int) (string, lang) {
	if r.IntN(10) < 7 {
		return fmt.Sprintf("%s «%s %s-%d»", pick(r, ruOrgForm), pick(r, ruOrgWord1), pick(r, ruOrgWord2), i), ru
	}
	return fmt.Sprintf("%s %s %d", pick(r, enOrgWord1), pick(r, enOrgWord2), i), en
}

// Words a search looks for: some common, some rare; "камер" and "квитанц"
// are words being typed (prefixes), "отчёт" and "счётчик" are found in
// their other forms and spelled with е.
var searchTerms = []string{"турникет", "ldap", "отчёт", "пропуск", "export", "timeout", "счётчик", "badge", "1с", "камер", "fire panel", "квитанц"}

var (
	ruPlaces   = []string{"на проходной 3", "в корпусе Б", "на складе №2", "на КПП-1", "в главном офисе", "на площадке в Казани", "в филиале на Невском", "на въезде для грузовиков", "в серверной", "на третьем этаже"}
	enPlaces   = []string{"at gate 3", "in building B", "at warehouse 2", "at the main entrance", "at the Kazan site", "in the server room", "at the truck entrance", "on the third floor"}
	ruServices = []string{"gateway", "access-control", "time-attendance", "fire-alarm", "report-service", "sync-ldap", "notifier"}
	versions   = []string{"3.9.4", "4.0.2", "4.1.7", "4.2.0", "4.2.1", "4.3.0", "2025.10", "2026.03", "2026.11"}
	ruMonths   = []string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
)

type subjectFn func(r *rand.Rand) string

var ruFaultSubjects = []subjectFn{
	func(r *rand.Rand) string { return "Не открывается турникет " + pick(r, ruPlaces) },
	func(r *rand.Rand) string {
		return "Не приходят события от пожарной панели " + pick(r, ruPlaces)
	},
	func(r *rand.Rand) string {
		return "Ошибка при выгрузке табеля в 1С за " + pick(r, ruMonths)
	},
	func(r *rand.Rand) string {
		return fmt.Sprintf("После обновления до версии %s не запускается сервис %s", pick(r, versions), pick(r, ruServices))
	},
	func(r *rand.Rand) string {
		return fmt.Sprintf("Отчёт по посещаемости формируется более %d минут", 5+r.IntN(55))
	},
	func(r *rand.Rand) string {
		return "Не печатаются пропуска для посетителей " + pick(r, ruPlaces)
	},
	func(r *rand.Rand) string {
		return "Дублируются записи в журнале событий " + pick(r, ruPlaces)
	},
	func(r *rand.Rand) string {
		return "Абоненты не видят показания счётчиков за " + pick(r, ruMonths)
	},
	func(r *rand.Rand) string {
		return "Ошибка 500 при входе в личный кабинет абонента"
	},
	func(r *rand.Rand) string {
		return "Не синхронизируются сотрудники из LDAP, ошибка timeout"
	},
	func(r *rand.Rand) string {
		return "Камеры " + pick(r, ruPlaces) + " не отображаются в мониторинге"
	},
	func(r *rand.Rand) string {
		return "Квитанции за " + pick(r, ruMonths) + " сформированы с неверной суммой"
	},
}

var enFaultSubjects = []subjectFn{
	func(r *rand.Rand) string { return "Turnstile does not open " + pick(r, enPlaces) },
	func(r *rand.Rand) string { return "Fire panel events are not delivered " + pick(r, enPlaces) },
	func(r *rand.Rand) string {
		return fmt.Sprintf("Service %s fails to start after the upgrade to %s", pick(r, ruServices), pick(r, versions))
	},
	func(r *rand.Rand) string { return "Badge printing fails with a timeout " + pick(r, enPlaces) },
	func(r *rand.Rand) string { return "Attendance export to 1C produces an empty file" },
	func(r *rand.Rand) string { return "Portal shows HTTP 500 after login" },
	func(r *rand.Rand) string { return "LDAP sync stops with a timeout every night" },
}

var ruQuestionSubjects = []subjectFn{
	func(r *rand.Rand) string {
		return "Как выгрузить табель учёта рабочего времени в 1С?"
	},
	func(r *rand.Rand) string {
		return "Как настроить синхронизацию сотрудников с LDAP?"
	},
	func(r *rand.Rand) string {
		return "Как изменить шаблон квитанции для абонентов?"
	},
	func(r *rand.Rand) string {
		return "Как добавить нового оператора с правами только на просмотр?"
	},
	func(r *rand.Rand) string {
		return "Какие порты нужно открыть для сервиса " + pick(r, ruServices) + "?"
	},
	func(r *rand.Rand) string {
		return "Можно ли выдать временный пропуск на неделю?"
	},
	func(r *rand.Rand) string {
		return "Как перенести данные на новый сервер перед обновлением до " + pick(r, versions) + "?"
	},
}

var enQuestionSubjects = []subjectFn{
	func(r *rand.Rand) string { return "How do we export the attendance sheet to 1C?" },
	func(r *rand.Rand) string { return "Which ports does " + pick(r, ruServices) + " need?" },
	func(r *rand.Rand) string { return "How to issue a temporary badge for a contractor?" },
	func(r *rand.Rand) string { return "Can the portal send meter reading reminders by SMS?" },
}

var ruImprovementSubjects = []subjectFn{
	func(r *rand.Rand) string {
		return "Просьба добавить фильтр по подразделениям в журнал проходов"
	},
	func(r *rand.Rand) string {
		return "Показывать фото сотрудника в журнале посетителей"
	},
	func(r *rand.Rand) string {
		return "Добавить выгрузку отчёта по нарушениям в Excel"
	},
	func(r *rand.Rand) string {
		return "Уведомлять охрану по SMS о срабатывании пожарной панели"
	},
	func(r *rand.Rand) string {
		return "Добавить в личный кабинет график потребления по месяцам"
	},
}

var enImprovementSubjects = []subjectFn{
	func(r *rand.Rand) string { return "Add a department filter to the passage log" },
	func(r *rand.Rand) string { return "Show the badge photo in the visitor log" },
	func(r *rand.Rand) string { return "Export the violations report to Excel" },
}

func subject(r *rand.Rand, l lang, typ string) string {
	var pool []subjectFn
	switch {
	case typ == "consultation" && l == ru:
		pool = ruQuestionSubjects
	case typ == "consultation":
		pool = enQuestionSubjects
	case typ == "improvement" && l == ru:
		pool = ruImprovementSubjects
	case typ == "improvement":
		pool = enImprovementSubjects
	case l == ru:
		pool = ruFaultSubjects
	default:
		pool = enFaultSubjects
	}
	return pick(r, pool)(r)
}

var (
	ruContext = []string{
		"Добрый день!", "Здравствуйте.", "Коллеги, добрый день.", "Здравствуйте, обращаемся повторно.",
	}
	ruBody = []string{
		"С сегодняшнего утра проблема повторяется у всех сотрудников смены, пропускаем людей вручную.",
		"Перезапуск сервиса и сервера не помог, в логах ошибок подключения к базе данных нет.",
		"Проблема появилась после планового обновления в выходные, до этого всё работало штатно.",
		"По нашим данным затронуто около двухсот пользователей, жалобы поступают в колл-центр.",
		"Прикладываем описание шагов и снимок экрана, журнал сервиса можем выгрузить по запросу.",
		"Нужно решить вопрос до конца месяца, так как от этого зависит расчёт заработной платы.",
		"Администратор на площадке проверил сетевое подключение контроллера, пинг проходит.",
		"В тестовой среде проблема не воспроизводится, только на боевом сервере.",
		"Ранее по похожему вопросу вы рекомендовали очистить кэш, но в этот раз это не помогло.",
		"Просим подсказать, можно ли временно обойти проблему настройками, пока готовится исправление.",
		"Бухгалтерия ежемесячно выгружает данные вручную, это занимает у сотрудников целый день.",
		"Охрана просит, чтобы изменение было доступно и в мобильном приложении оператора.",
	}
	enContext = []string{"Hello,", "Hi team,", "Good morning,", "Dear support,"}
	enBody    = []string{
		"Since this morning the problem affects every shift, guards let people in by hand.",
		"Restarting the service and the server did not help; the logs show no database errors.",
		"It started after the planned upgrade at the weekend; everything worked before.",
		"About two hundred users are affected and the call centre keeps getting complaints.",
		"Steps and a screenshot are attached; we can send the service log on request.",
		"We need this solved before the end of the month because payroll depends on it.",
		"The site administrator checked the controller's network link and it answers ping.",
		"It does not happen on the test bench, only in production.",
		"Could you suggest a workaround in the settings until a fix is ready?",
	}
	logLines = []string{
		"ERROR gateway: upstream access-control timed out after 30s (request_id=%08x)",
		"WARN  sync-ldap: page %d of ou=staff returned 0 entries, retrying",
		"ERROR report-service: query canceled: statement timeout (%d ms)",
		"FATAL fire-alarm: panel B-%d: serial link lost, reconnecting",
		"ERROR time-attendance: export 1C: field TabNum is empty for %d rows",
	}
)

// description is one to six sentences, with a pasted log for some faults.
func description(r *rand.Rand, l lang, typ string) string {
	var b strings.Builder
	ctx, body := ruContext, ruBody
	if l == en {
		ctx, body = enContext, enBody
	}
	b.WriteString(pick(r, ctx))
	n := 1 + r.IntN(5)
	for range n {
		b.WriteByte(' ')
		b.WriteString(pick(r, body))
	}
	if typ == "fault" && r.IntN(10) < 3 {
		b.WriteString("\n\n")
		for i := range 2 + r.IntN(6) {
			fmt.Fprintf(&b, "2026-%02d-%02d %02d:%02d:%02d ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
			fmt.Fprintf(&b, pick(r, logLines)+"\n", r.IntN(1<<30)+i)
		}
	}
	return b.String()
}

var (
	ruStaffReplies = []string{
		"Спасибо за обращение, взяли в работу. Сообщим о результатах диагностики.",
		"Воспроизвели проблему на стенде, передали разработчикам.",
		"Подготовили исправление, оно войдёт в ближайший патч-релиз.",
		"Проверьте, пожалуйста, после перезапуска службы — мы обновили конфигурацию удалённо.",
		"Приложите, пожалуйста, журнал сервиса за время сбоя.",
	}
	enStaffReplies = []string{
		"Thank you, we are on it and will report what the diagnosis shows.",
		"We reproduced it on our bench and passed it to development.",
		"A fix is ready and goes into the next patch release.",
		"Please check again after the service restart; we updated the configuration remotely.",
	}
	ruAck             = []string{"Спасибо за обращение, взяли в работу.", "Добрый день! Обращение получили, разбираемся.", "Здравствуйте, уже смотрим."}
	enAck             = []string{"Thanks, we are on it.", "Hello, we got your request and are looking into it."}
	ruCustomerReplies = []string{
		"Спасибо, ждём.", "Проблема повторилась сегодня в 9:15.", "Журнал приложили.", "Подтверждаем, после обновления всё работает.",
		"Когда ожидать исправление? Охрана работает в ручном режиме.",
	}
	enCustomerReplies = []string{"Thanks, waiting.", "It happened again today at 9:15.", "Log attached.", "Confirmed, it works after the update."}
	internalNotes     = []string{
		"Похоже на регрессию в 4.2: см. похожие обращения за прошлую неделю.",
		"Клиент на тарифе Premium, держим в приоритете.",
		"Нужен удалённый доступ, запросил у администратора.",
		"Looks like the known timeout in sync-ldap; linking to the problem.",
		"Checked the logs on their instance: disk was full on /var.",
	}
	ruQuestions = []string{"Уточните, пожалуйста, версию продукта и время последнего сбоя.", "Пришлите, пожалуйста, журнал сервиса и снимок экрана с ошибкой.", "Какую версию 1С:ЗУП вы используете?"}
	enQuestions = []string{"Which version do you run, and when did it last fail?", "Please send the service log and a screenshot of the error."}
	ruAnswers   = []string{"Версия 4.2.1, последний сбой сегодня в 8:40.", "Журнал и снимок экрана приложили.", "Используем ЗУП 3.1.27."}
	enAnswers   = []string{"We run 4.2.1; it last failed today at 8:40.", "Log and screenshot attached."}
	ruScopes    = []string{"Найти причину, исправить в ближайшем патч-релизе и установить на боевой сервер.", "Доработать отчёт и выгрузку, обновить документацию.", "Добавить настройку и уведомления, протестировать на стенде заказчика."}
	enScopes    = []string{"Find the cause, fix it in the next patch release and deploy it to production.", "Extend the report and the export, update the manual."}
	ruResolved  = []string{"Исправление установлено, проблема не воспроизводится.", "Дан ответ с инструкцией по настройке.", "Обновили конфигурацию, выгрузка проходит."}
	enResolved  = []string{"The fix is installed and the problem no longer occurs.", "Answered with configuration steps.", "Configuration updated; the export works."}
	ruReasons   = []string{"Дубликат обращения.", "Вопрос решён своими силами.", "Обращение создано по ошибке."}
	enReasons   = []string{"Duplicate.", "Solved it ourselves.", "Created by mistake."}
	ruReopen    = []string{"Проблема повторилась после перезагрузки.", "Исправление помогло не на всех площадках."}
	enReopen    = []string{"It happened again after a reboot.", "The fix did not help at every site."}
)

func byLang(r *rand.Rand, l lang, ruPool, enPool []string) string {
	if l == en {
		return pick(r, enPool)
	}
	return pick(r, ruPool)
}
